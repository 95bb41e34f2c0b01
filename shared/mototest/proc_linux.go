package mototest

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid: true, // so Stop can kill moto and anything it spawned
		// If the test binary dies without cleanup (panic, kill), the kernel kills moto.
		// The signal fires when the starting *thread* exits, hence the locked thread in own.
		Pdeathsig: syscall.SIGKILL,
	}
}

func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
