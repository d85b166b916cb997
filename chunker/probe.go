package chunker

import "context"

// probeLocal is Probe with the local tier in front: chunks it holds count as
// present without asking Redis.
func (c *Cache) probeLocal(ctx context.Context, keys []string) ([]bool, error) {
	exist, ask, at := c.held(keys)
	if len(ask) == 0 {
		return exist, nil
	}
	found, err := c.store.Probe(ctx, ask, 0)
	if err != nil {
		return nil, err
	}
	for k, i := range at {
		exist[i] = found[k]
	}
	return exist, nil
}

// sample returns up to n chunk indices spread evenly over [first, end):
// each the middle of one of n equal parts, or every index when there are no
// more than n.
func sample(first, end int64, n int) []int64 {
	count := end - first
	if count <= 0 {
		return nil
	}
	if count <= int64(n) {
		out := make([]int64, 0, count)
		for i := first; i < end; i++ {
			out = append(out, i)
		}
		return out
	}
	out := make([]int64, n)
	for j := range out {
		out[j] = first + count*int64(2*j+1)/int64(2*n)
	}
	return out
}

// held splits keys into those the local tier holds, which need no asking
// (exist[i] is set), and those to ask Redis about: ask[k] is keys[at[k]].
func (c *Cache) held(keys []string) (exist []bool, ask []string, at []int) {
	exist = make([]bool, len(keys))
	for i, k := range keys {
		if c.local != nil && c.local.Has(k) {
			exist[i] = true
			continue
		}
		ask, at = append(ask, k), append(at, i)
	}
	return exist, ask, at
}
