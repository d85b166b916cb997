#!/usr/bin/env bash
# Makes the sample videos in testdata/media from ffmpeg's test patterns: a
# moving test card with a timer and a sine tone, 24 s, low bitrate. The
# output is committed; run this only to change the samples. Needs ffmpeg
# with libx264, libvpx-vp9 and libopus (Debian's ffmpeg has them).
set -euo pipefail
cd "$(dirname "$0")/media"
dur=24
src=(-f lavfi -i "testsrc2=size=640x360:rate=24:duration=$dur"
     -f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000:duration=$dur")
# Reproducible: no encoder threads racing, no timestamps or tool names.
pre=(-hide_banner -loglevel error -y)
post=(-threads 1 -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact)
h264=(-c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -b:v 400k -maxrate 500k -bufsize 1M -g 48 -x264-params threads=1
      -c:a aac -b:a 64k -ac 2)

ffmpeg "${pre[@]}" "${src[@]}" "${post[@]}" "${h264[@]}" -movflags +faststart sample-faststart.mp4
ffmpeg "${pre[@]}" "${src[@]}" "${post[@]}" "${h264[@]}" sample-moov-at-end.mp4
ffmpeg "${pre[@]}" "${src[@]}" "${post[@]}" -c:v libvpx-vp9 -b:v 400k -deadline good -cpu-used 4 -row-mt 0 -g 48 \
       -c:a libopus -b:a 64k sample.webm
ls -l
