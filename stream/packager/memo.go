package packager

import (
	"container/list"
	"sync"
)

// memo is a small LRU of values derived from an index (segment plans,
// segment layouts), bounded by the bytes they take. Keys name the file
// version, so an entry never outlives its meaning, only its usefulness.
// It is safe for concurrent use.
type memo[V any] struct {
	max int64

	mu    sync.Mutex // protects the fields below
	lru   *list.List // of *memoEntry[V], most recent first
	byKey map[string]*list.Element
	bytes int64
}

type memoEntry[V any] struct {
	key  string
	val  V
	size int64
}

func newMemo[V any](max int64) *memo[V] {
	return &memo[V]{max: max, lru: list.New(), byKey: make(map[string]*list.Element)}
}

func (m *memo[V]) get(key string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	m.lru.MoveToFront(e)
	return e.Value.(*memoEntry[V]).val, true
}

func (m *memo[V]) put(key string, val V, size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byKey[key]; ok || size > m.max {
		return
	}
	m.byKey[key] = m.lru.PushFront(&memoEntry[V]{key, val, size})
	m.bytes += size
	for m.bytes > m.max {
		last := m.lru.Back()
		en := last.Value.(*memoEntry[V])
		m.lru.Remove(last)
		delete(m.byKey, en.key)
		m.bytes -= en.size
	}
}
