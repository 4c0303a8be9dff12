// The Go peer of the benchmark (tests/bench.rs): the cost of Go's `Do`
// pattern with github.com/vishvananda/netns, as Debian packages it
// (golang-github-vishvananda-netns-dev). Built by the benchmark with
// GO111MODULE=off GOPATH=/usr/share/gocode.
//
// Usage: do N ROUNDS. Prints the median time of one Do of an empty
// function, in nanoseconds.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/vishvananda/netns"
)

// do runs f inside target the way Go code does (cilium's pkg/netns `Do`):
// a goroutine locked to its OS thread enters the namespace, runs f and
// goes back to home; a thread that cannot go back stays locked, so the
// runtime throws it away.
func do(home, target netns.NsHandle, f func()) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(target); err != nil {
			done <- err
			return
		}
		f()
		if err := netns.Set(home); err != nil {
			done <- err
			return
		}
		runtime.UnlockOSThread()
		done <- nil
	}()
	return <-done
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage", fmt.Errorf("do N ROUNDS"))
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fail("N", err)
	}
	rounds, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail("ROUNDS", err)
	}
	runtime.LockOSThread()
	// Home is a namespace of this process's own, so that threads may go
	// back to it inside a user namespace too (the host's may not be
	// entered from there).
	home, err := netns.New()
	if err != nil {
		fail("netns.New (home)", err)
	}
	target, err := netns.New()
	if err != nil {
		fail("netns.New (target)", err)
	}
	if err := netns.Set(home); err != nil {
		fail("netns.Set (home)", err)
	}
	// As in a Go program that does not pin its main goroutine: the
	// goroutines of `do` may then run on this thread too.
	runtime.UnlockOSThread()
	empty := func() {}
	for i := 0; i < n; i++ {
		if err := do(home, target, empty); err != nil {
			fail("Do (warm-up)", err)
		}
	}
	per := make([]float64, 0, rounds)
	for r := 0; r < rounds; r++ {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := do(home, target, empty); err != nil {
				fail("Do", err)
			}
		}
		per = append(per, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	sort.Float64s(per)
	fmt.Printf("%.1f\n", per[len(per)/2])
}
