// Package dash writes static DASH MPDs (ISO/IEC 23009-1, the live profile's
// SegmentTemplate with a SegmentTimeline) over CMAF init and media
// segments. It only formats; the packager decides the segments.
package dash

import (
	"encoding/xml"
	"fmt"
	"io"
)

// MPD is a static MPD of one period.
type MPD struct {
	Duration  float64 // seconds
	MinBuffer float64 // seconds: the longest segment will do
	Sets      []AdaptationSet
}

// AdaptationSet is one kind of content: video or audio (one per language).
type AdaptationSet struct {
	ContentType string // "video" or "audio"
	Lang        string
	Reps        []Representation
}

// Representation is one track of one file.
type Representation struct {
	ID         string
	Codecs     string
	Bandwidth  int64
	Width      uint32
	Height     uint32
	FrameRate  string // e.g. "24" or "30000/1001"; "" leaves it out
	SampleRate uint32
	Channels   uint16

	Timescale uint32
	Init      string // initialization URL
	Media     string // media URL template with $Number$
	Timeline  []S    // segment times in Timescale, first segment number 1
}

// S is one SegmentTimeline entry: a segment starting at T lasting D, and R
// more of the same duration.
type S struct {
	T uint64 `xml:"t,attr"`
	D uint64 `xml:"d,attr"`
	R int    `xml:"r,attr,omitempty"`
}

type xmpd struct {
	XMLName  xml.Name `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Profiles string   `xml:"profiles,attr"`
	Type     string   `xml:"type,attr"`
	Duration string   `xml:"mediaPresentationDuration,attr"`
	MinBuf   string   `xml:"minBufferTime,attr"`
	Period   xperiod  `xml:"Period"`
}

type xperiod struct {
	ID   string  `xml:"id,attr"`
	Sets []xaset `xml:"AdaptationSet"`
}

type xaset struct {
	ContentType      string `xml:"contentType,attr"`
	MimeType         string `xml:"mimeType,attr"`
	Lang             string `xml:"lang,attr,omitempty"`
	SegmentAlignment bool   `xml:"segmentAlignment,attr"`
	StartWithSAP     int    `xml:"startWithSAP,attr"`
	Reps             []xrep `xml:"Representation"`
}

type xrep struct {
	ID         string     `xml:"id,attr"`
	Codecs     string     `xml:"codecs,attr"`
	Bandwidth  int64      `xml:"bandwidth,attr"`
	Width      uint32     `xml:"width,attr,omitempty"`
	Height     uint32     `xml:"height,attr,omitempty"`
	FrameRate  string     `xml:"frameRate,attr,omitempty"`
	SampleRate uint32     `xml:"audioSamplingRate,attr,omitempty"`
	Channels   *xchannels `xml:"AudioChannelConfiguration,omitempty"`
	Template   xtemplate  `xml:"SegmentTemplate"`
}

type xchannels struct {
	Scheme string `xml:"schemeIdUri,attr"`
	Value  uint16 `xml:"value,attr"`
}

type xtemplate struct {
	Timescale   uint32 `xml:"timescale,attr"`
	Init        string `xml:"initialization,attr"`
	Media       string `xml:"media,attr"`
	StartNumber int    `xml:"startNumber,attr"`
	Timeline    []S    `xml:"SegmentTimeline>S"`
}

// Write writes the MPD as XML.
func (m *MPD) Write(w io.Writer) error {
	x := xmpd{
		Profiles: "urn:mpeg:dash:profile:isoff-live:2011",
		Type:     "static",
		Duration: isoDuration(m.Duration),
		MinBuf:   isoDuration(max(m.MinBuffer, 2)),
		Period:   xperiod{ID: "0"},
	}
	for _, a := range m.Sets {
		xa := xaset{ContentType: a.ContentType, MimeType: a.ContentType + "/mp4", Lang: a.Lang, SegmentAlignment: true, StartWithSAP: 1}
		for _, r := range a.Reps {
			xr := xrep{ID: r.ID, Codecs: r.Codecs, Bandwidth: r.Bandwidth, Width: r.Width, Height: r.Height, FrameRate: r.FrameRate, SampleRate: r.SampleRate,
				Template: xtemplate{Timescale: r.Timescale, Init: r.Init, Media: r.Media, StartNumber: 1, Timeline: r.Timeline}}
			if r.Channels > 0 {
				xr.Channels = &xchannels{"urn:mpeg:dash:23003:3:audio_channel_configuration:2011", r.Channels}
			}
			xa.Reps = append(xa.Reps, xr)
		}
		x.Period.Sets = append(x.Period.Sets, xa)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	if err := enc.Encode(x); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// isoDuration writes seconds as an xs:duration, e.g. PT20.000S.
func isoDuration(s float64) string {
	return fmt.Sprintf("PT%.3fS", s)
}

// Timeline compresses segment start times (and the end time) into S
// entries, joining runs of equal durations.
func Timeline(starts []uint64, end uint64) []S {
	var out []S
	for i, t := range starts {
		next := end
		if i+1 < len(starts) {
			next = starts[i+1]
		}
		d := next - t
		if n := len(out); n > 0 && out[n-1].D == d && out[n-1].T+uint64(out[n-1].R+1)*d == t {
			out[n-1].R++
			continue
		}
		out = append(out, S{T: t, D: d})
	}
	return out
}
