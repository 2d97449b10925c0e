// Command erasure measures klauspost/reedsolomon (the default reedsolomon.New(k, m)
// encoder) for bench/erasure.bench.ts: encode, and reconstruct with two data shards
// lost, at the shapes given on the command line ("k,m,size ..."). Run it with
// GOMAXPROCS=1 for a single-core figure. Prints one JSON array on stdout with
// input bytes (k x shard size) per second (wall clock and CPU time), best of 3
// rounds of >= minMs each.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/klauspost/reedsolomon"
)

type result struct {
	Op   string `json:"op"`
	K    int    `json:"k"`
	M    int    `json:"m"`
	Size int    `json:"size"`
	// Input bytes per wall-clock second, and per second of process CPU time
	// (user + system, all threads), which a shared machine's time-slicing leaves alone.
	BytesPerSec    float64 `json:"bytesPerSec"`
	BytesPerCPUSec float64 `json:"bytesPerCpuSec"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// measure returns calls per wall second and per CPU second, each the best of 3 rounds.
func measure(minMs int, fn func()) (float64, float64) {
	run := func(d time.Duration) (float64, float64) {
		n := 0
		start := time.Now()
		cpu0 := cpuSeconds()
		for {
			fn()
			n++
			if el := time.Since(start); el >= d {
				return float64(n) / el.Seconds(), float64(n) / (cpuSeconds() - cpu0)
			}
		}
	}
	run(time.Duration(minMs/3) * time.Millisecond)
	bestWall, bestCPU := 0.0, 0.0
	for r := 0; r < 3; r++ {
		w, c := run(time.Duration(minMs) * time.Millisecond)
		if w > bestWall {
			bestWall = w
		}
		if c > bestCPU {
			bestCPU = c
		}
	}
	return bestWall, bestCPU
}

func main() {
	minMs := flag.Int("ms", 300, "milliseconds per round")
	flag.Parse()
	out := []result{}
	for _, arg := range flag.Args() {
		var k, m, size int
		if _, err := fmt.Sscanf(arg, "%d,%d,%d", &k, &m, &size); err != nil {
			fmt.Fprintf(os.Stderr, "bad shape %q: %v\n", arg, err)
			os.Exit(2)
		}
		enc, err := reedsolomon.New(k, m)
		if err != nil {
			panic(err)
		}
		shards := make([][]byte, k+m)
		for i := range shards {
			shards[i] = make([]byte, size)
			for j := range shards[i] {
				shards[i][j] = byte(i*131 + j*7)
			}
		}
		if err := enc.Encode(shards); err != nil {
			panic(err)
		}
		input := float64(k * size)
		e, ec := measure(*minMs, func() {
			if err := enc.Encode(shards); err != nil {
				panic(err)
			}
		})
		out = append(out, result{"encode", k, m, size, e * input, ec * input})
		lost0, lost1 := shards[0], shards[1]
		r, rc := measure(*minMs, func() {
			// Zero length, full capacity: Reconstruct refills the buffers in place.
			shards[0], shards[1] = lost0[:0], lost1[:0]
			if err := enc.Reconstruct(shards); err != nil {
				panic(err)
			}
		})
		out = append(out, result{"reconstruct", k, m, size, r * input, rc * input})
	}
	_ = runtime.GOMAXPROCS(0)
	json.NewEncoder(os.Stdout).Encode(out)
}
