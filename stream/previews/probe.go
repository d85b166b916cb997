package previews

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// badInput is a job failure that is the file's fault: it is stored as a
// negative Result, so the file is not tried again until it changes. msg is
// shown to clients.
type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

// probe is what ffprobe says about the input.
type probe struct {
	Format   string  // ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	Duration float64 // seconds
	Width    int     // the first video stream's picture
	Height   int
	SAR      float64 // its sample aspect ratio (0: unknown, taken as 1)
}

// maxProbeOutput bounds what is read of ffprobe's output.
const maxProbeOutput = 1 << 20

// runProbe asks ffprobe about url. A file ffprobe cannot read, that is not
// an MP4/MOV, has no video (an audio-only MP4, cover art aside) or no
// duration is a *badInput.
func runProbe(ctx context.Context, ffprobe, url string) (*probe, error) {
	cmd := exec.CommandContext(ctx, ffprobe, "-hide_banner", "-v", "error",
		"-recv_buffer_size", strconv.Itoa(sndBuf),
		"-print_format", "json",
		"-show_entries", "format=format_name,duration:stream=codec_type,width,height,sample_aspect_ratio:stream_disposition=attached_pic",
		url)
	var out, errb limitedBuffer
	out.max, errb.max = maxProbeOutput, 4096
	cmd.Stdout, cmd.Stderr = &out, &errb
	setWaitDelay(cmd)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &ffError{tool: "ffprobe", err: err, stderr: errb.String(), bad: "ffprobe cannot read this file (damaged, truncated or not a video)"}
	}
	var v struct {
		Streams []struct {
			CodecType   string `json:"codec_type"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
			SAR         string `json:"sample_aspect_ratio"`
			Disposition struct {
				AttachedPic int `json:"attached_pic"`
			} `json:"disposition"`
		} `json:"streams"`
		Format struct {
			Name     string `json:"format_name"`
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		return nil, fmt.Errorf("ffprobe output: %w", err)
	}
	p := &probe{Format: v.Format.Name}
	if !strings.Contains(p.Format, "mp4") && !strings.Contains(p.Format, "mov") {
		return nil, &badInput{fmt.Sprintf("previews are made of MP4 and MOV files; this one is %s", orUnknown(p.Format))}
	}
	for _, s := range v.Streams {
		if s.CodecType == "video" && s.Disposition.AttachedPic == 0 && s.Width > 0 && s.Height > 0 {
			p.Width, p.Height, p.SAR = s.Width, s.Height, ratio(s.SAR)
			break
		}
	}
	if p.Width == 0 {
		return nil, &badInput{"the file has no video stream"}
	}
	p.Duration, _ = strconv.ParseFloat(v.Format.Duration, 64)
	if !(p.Duration > 0) {
		return nil, &badInput{"the file has no duration"}
	}
	return p, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "of an unknown format"
	}
	return s
}

// ratio parses "a:b" as a/b; 0 when it is not one.
func ratio(s string) float64 {
	a, b, ok := strings.Cut(s, ":")
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if !ok || err1 != nil || err2 != nil || x <= 0 || y <= 0 {
		return 0
	}
	return x / y
}

// ffError is an ffmpeg or ffprobe that exited with an error. bad is what a
// client is told when the input is to blame.
type ffError struct {
	tool, stderr, bad string
	err               error
}

func (e *ffError) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.tool, e.err, strings.TrimSpace(e.stderr))
}

func (e *ffError) Unwrap() error { return e.err }

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
