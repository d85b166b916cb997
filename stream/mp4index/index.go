// Package mp4index parses the moov box of an MP4 (or MOV) file once per
// file version into a compact Index of plain Go values: its tracks,
// codecs, timescales, edit lists and sample tables (sizes, chunk offsets,
// decode durations, composition offsets, sync samples). The packagers
// (HLS, DASH) plan segments and write CMAF fragments from it without
// touching the moov again.
//
// The box parsing is mp4ff's (github.com/Eyevinn/mp4ff); this package only
// walks the top-level box headers to find the moov, reads it whole (bounded
// by Options.MaxMoovBytes) through an io.ReaderAt, which for a
// *chunker.File means chunk-aligned reads through the cache, and keeps
// the run-length tables as they are in the file. Sample times and offsets
// are expanded per track only when a packager asks (Track.Samples).
//
// Cost: the stored form is the file's own tables (4 bytes a sample for the
// sizes, 8 per stts/ctts run, 4 per sync sample and 8 per chunk): about
// 3.5 MB for a two-hour film at 24 fps with AAC (170k video + 340k audio
// samples), less with gob's varints. The expanded form (Samples) costs 24
// bytes a sample, about 12 MB for the same film.
package mp4index

import (
	"errors"
)

// Errors of Parse. Each wraps one of ErrNotMP4, ErrUnsupported or ErrBad,
// which a server maps to a 4xx answer.
var (
	// ErrNotMP4: the file is not an ISO BMFF file (WebM, Matroska, MPEG-TS...).
	ErrNotMP4 = errors.New("mp4index: not an MP4 file")
	// ErrUnsupported: an MP4 the packager cannot carry: no audio or video
	// track it knows, an unknown codec, no sync samples, encrypted media.
	ErrUnsupported = errors.New("mp4index: unsupported MP4")
	// ErrBad: a truncated or inconsistent file (a box past the end, sample
	// tables that disagree, a moov over the size limit).
	ErrBad = errors.New("mp4index: malformed MP4")
)

// Format is the version of the stored form; Marshal writes it and
// Unmarshal refuses any other, so a changed layout is a miss, not a
// misread.
const Format = 1

// Index is what a packager needs to know about one version of an MP4 file.
type Index struct {
	Size           int64   // the file's size in bytes
	MovieTimescale uint32  // mvhd timescale, the unit of Edit.Duration
	Duration       float64 // seconds, the longest track's presentation
	Tracks         []Track // the audio and video tracks carried, in file order

	// Fragmented is set for a fragmented MP4 (CMAF) source: its samples
	// live in moof/mdat pairs, described by Fragments, and the sample
	// tables of its tracks are empty.
	Fragmented    bool
	InitSize      int64      // bytes before the first moof (ftyp, moov, ...)
	Fragments     []Fragment // the top-level moof+mdat pairs in file order
	FragTimescale uint32     // the unit of Fragment.Duration
}

// Fragment is one moof with the boxes up to the next moof of a fragmented
// source: the byte range [Offset, Offset+Size) and its decode time span in
// FragTimescale (the video track's, else the first track's).
type Fragment struct {
	Offset, Size int64
	Duration     uint64
}

// Kind is a track's media type.
type Kind string

// Track kinds.
const (
	Video Kind = "video"
	Audio Kind = "audio"
)

// Track is one audio or video track: its description and its sample
// tables, as run-length tables like the file's own.
type Track struct {
	ID        uint32 // tkhd track_ID in the source
	Kind      Kind
	Codec     string // RFC 6381 codecs value, e.g. avc1.64001F or mp4a.40.2
	Timescale uint32 // mdhd timescale: ticks per second of the sample times
	Lang      string // ISO 639-2/T, "und" when unknown
	Width     uint32 // video: display width in pixels (tkhd, else the sample entry)
	Height    uint32
	Channels  uint16 // audio
	Rate      uint32 // audio: sample rate in Hz

	// Entry is the encoded sample entry box (avc1, mp4a, ...) of the
	// track's only sample description, copied into init segments.
	Entry []byte

	// Edits is the edit list (elst), empty when there is none.
	Edits []Edit

	Count       uint32   // number of samples
	UniformSize uint32   // the size of every sample, or 0 when Sizes has them
	Sizes       []uint32 // per-sample sizes when UniformSize is 0
	Times       []Run    // stts: Count samples of Delta ticks each
	Offsets     []CRun   // ctts: composition offsets; empty: none
	Sync        []uint32 // 0-based indexes of sync samples; nil: every sample is one
	Chunks      []int64  // stco/co64: file offsets of the chunks
	ChunkRuns   []Run    // stsc: from chunk index First (0-based), Delta samples per chunk
}

// Edit is one elst entry: Duration in the movie timescale, MediaTime in
// the track's (-1 for an empty edit).
type Edit struct {
	Duration  uint64
	MediaTime int64
	Rate      int16
}

// Run is a run-length entry: stts (Count samples of duration Delta) or,
// in ChunkRuns, stsc (chunks from index Count on hold Delta samples each).
type Run struct {
	Count, Delta uint32
}

// CRun is a ctts entry: Count samples whose composition time is their
// decode time plus Offset.
type CRun struct {
	Count  uint32
	Offset int32
}

// Track returns the first track of kind k, or nil.
func (x *Index) Track(k Kind) *Track {
	for i := range x.Tracks {
		if x.Tracks[i].Kind == k {
			return &x.Tracks[i]
		}
	}
	return nil
}

// Bandwidth returns the file's average bit rate in bits per second over
// its duration, 0 when the duration is unknown.
func (x *Index) Bandwidth() int64 {
	if x.Duration <= 0 {
		return 0
	}
	return int64(float64(x.Size) * 8 / x.Duration)
}
