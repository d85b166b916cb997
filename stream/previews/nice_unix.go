//go:build unix

package previews

import "syscall"

// lower gives a running ffmpeg a lower CPU priority (nice 10) than the
// server's, so that a preview job yields the CPU to viewers' streams.
func lower(pid int) { _ = syscall.Setpriority(syscall.PRIO_PROCESS, pid, 10) }
