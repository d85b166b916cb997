package previews

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reelcache/reelcache/chunker"
)

// errFarKeyframes: a keyframes-only pass was stopped at the first pair of
// keyframes too far apart for the tiles between them.
var errFarKeyframes = errors.New("previews: keyframes too far apart")

// errChanged: the file changed between the request and the job; the job's
// version is not the one asked for.
var errChanged = errors.New("previews: file changed")

// keyframeSlack is how far apart keyframes may be, in intervals, for tiles
// taken from keyframes only: each tile is then the keyframe at or before its
// cue time, at most 1.5 intervals early. Farther apart, every frame is
// decoded (slower, exact).
const keyframeSlack = 1.5

// run makes the previews of version of name: opens it (failing with
// errChanged if it is no longer that version), serves it to ffprobe and
// ffmpeg, and returns the Result. A *badInput error is the file's fault.
func (h *Handler) run(ctx context.Context, name, version string) (*Result, error) {
	start := time.Now()
	f, err := h.files.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	if f.Version() != version {
		return nil, errChanged
	}
	if f.Size() == 0 {
		return nil, &badInput{"the file is empty"}
	}
	src, err := serveFile(f, func(ctx context.Context) (*chunker.File, error) { return h.files.Open(ctx, name) })
	if err != nil {
		return nil, fmt.Errorf("loopback source: %w", err)
	}
	defer src.Close()
	blame := func(err error) error {
		var fe *ffError
		if rerr := src.Err(); rerr != nil {
			return fmt.Errorf("reading %s: %w (%v)", name, rerr, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.As(err, &fe) {
			return errors.Join(&badInput{fe.bad}, err)
		}
		return err
	}
	p, err := runProbe(ctx, h.opts.FFprobe, src.URL)
	if err != nil {
		return nil, blame(err)
	}
	iv := Interval(p.Duration, h.opts.Interval)
	n := tileCount(p.Duration, iv)
	r := &Result{
		Duration: p.Duration, Interval: iv, Tiles: n,
		Width: h.opts.Width, Height: tileHeight(h.opts.Width, p.Width, p.Height, p.SAR),
		Cols: gridCols, Rows: spriteRows(n), Keyframe: true,
	}
	dir, err := os.MkdirTemp("", "reelcache-previews-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	gap, err := h.ffmpeg(ctx, src.URL, dir, r)
	if errors.Is(err, errFarKeyframes) || (err == nil && gap > keyframeSlack*iv) {
		h.log.Debug("previews: keyframes too far apart, decoding every frame", "file", name, "gap_s", gap, "interval_s", iv)
		r.Keyframe = false
		if err = clearDir(dir); err == nil {
			_, err = h.ffmpeg(ctx, src.URL, dir, r)
		}
	}
	if err != nil {
		return nil, blame(err)
	}
	per := r.Cols * r.Rows
	for i := 0; i < (n+per-1)/per; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("sprite-%d.jpg", i)))
		if errors.Is(err, os.ErrNotExist) && i > 0 {
			r.Tiles = i * per // the video stream ended before the container's duration
			break
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, &badInput{"ffmpeg made no picture of this file"}
		}
		if err != nil {
			return nil, fmt.Errorf("sprite %d: %w", i, err)
		}
		r.Sprites = append(r.Sprites, b)
	}
	src.Close() // ffmpeg has exited: its requests end, counting what they read
	r.ReadBytes, r.RedisBytes, r.LocalBytes = src.Served()
	r.Made, r.Took = time.Now(), time.Since(start)
	return r, nil
}

// ffmpeg runs one ffmpeg pass writing r's sprite sheets into dir
// (sprite-0.jpg, ...). With r.Keyframe it decodes only keyframes and
// returns the largest gap between two of them (and from the last to the
// end), in seconds, or stops at the first gap too large for the interval
// (errFarKeyframes).
func (h *Handler) ffmpeg(ctx context.Context, url, dir string, r *Result) (gap float64, err error) {
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-v", "info", "-xerror"}
	filter := ""
	if r.Keyframe {
		args = append(args, "-skip_frame", "nokey")
		filter = "showinfo,"
	}
	filter += fmt.Sprintf("fps=fps=1000/%d:start_time=0:round=up,trim=end_frame=%d,scale=%d:%d,tile=%dx%d",
		int64(r.Interval*1000), r.Tiles, r.Width, r.Height, r.Cols, r.Rows)
	args = append(args, "-recv_buffer_size", strconv.Itoa(sndBuf), "-i", url,
		"-map", "0:v:0", "-an", "-sn", "-dn", "-vf", filter, "-fps_mode", "passthrough",
		"-q:v", "4", "-start_number", "0", "-f", "image2", "-y", filepath.Join(dir, "sprite-%d.jpg"))
	cmd := exec.CommandContext(ctx, h.opts.FFmpeg, args...)
	setWaitDelay(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("ffmpeg: %w", err)
	}
	lower(cmd.Process.Pid)
	last := -1.0
	var tail []string // the last lines that are not showinfo's, for the error
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if _, rest, ok := strings.Cut(line, " pts_time:"); ok && strings.Contains(line, "Parsed_showinfo_0") {
			f, _, _ := strings.Cut(rest, " ")
			if t, err := strconv.ParseFloat(f, 64); err == nil {
				if last >= 0 {
					gap = max(gap, t-last)
				}
				last = t
				if gap > keyframeSlack*r.Interval {
					// Not worth finishing: every frame will be
					// decoded instead. Stop reading the video now.
					cmd.Process.Kill()
					io.Copy(io.Discard, stderr)
					cmd.Wait()
					return gap, errFarKeyframes
				}
			}
			continue
		}
		if tail = append(tail, line); len(tail) > 8 {
			tail = tail[1:]
		}
	}
	io.Copy(io.Discard, stderr) // after a line past 1 MiB: the rest, so that Wait may close the pipe
	if err := cmd.Wait(); err != nil {
		return 0, &ffError{tool: "ffmpeg", err: err, stderr: strings.Join(tail, "\n"), bad: "ffmpeg cannot decode this file (damaged or truncated)"}
	}
	if last >= 0 {
		gap = max(gap, r.Duration-last)
	}
	return gap, nil
}

// clearDir removes what a pass left in dir.
func clearDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Mkdir(dir, 0o700)
}

// setWaitDelay bounds how long Wait waits for a killed tool's pipes.
func setWaitDelay(cmd *exec.Cmd) { cmd.WaitDelay = 5 * time.Second }
