// Command gen writes erasure.json: known-answer parity from klauspost/reedsolomon's
// default encoder reedsolomon.New(k, m) for tfw's erasure tests.
//
// Inputs come from a xorshift32 stream (Marsaglia 2003) that test/unit/erasure*.test.ts
// reproduces, so only parity hashes and a few raw bytes are committed.
// Regenerate (Debian: golang-go golang-github-klauspost-reedsolomon-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run test/vectors/erasure/gen.go > test/vectors/erasure/erasure.json
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"

	"github.com/klauspost/reedsolomon"
)

type xorshift32 struct{ x uint32 }

func (r *xorshift32) next() uint32 {
	r.x ^= r.x << 13
	r.x ^= r.x >> 17
	r.x ^= r.x << 5
	return r.x
}

// fill writes the stream as little-endian 32-bit words, one word per 4 bytes.
func (r *xorshift32) fill(b []byte) {
	for i := 0; i < len(b); i += 4 {
		v := r.next()
		for j := 0; j < 4 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

type parity struct {
	SHA256 string `json:"sha256"`
	Head   string `json:"head"`
}

type vector struct {
	K      int      `json:"k"`
	M      int      `json:"m"`
	Size   int      `json:"size"`
	Seed   uint32   `json:"seed"`
	Parity []parity `json:"parity"`
	// Full parity in hex, only for the smallest cases.
	Raw []string `json:"raw,omitempty"`
}

func main() {
	cases := []struct{ k, m, size int }{
		{4, 2, 1}, {4, 2, 8}, {4, 2, 16}, {4, 2, 1031},
		{5, 3, 77},
		{10, 4, 64}, {10, 4, 4099},
		{16, 4, 1000},
		{17, 3, 333},
		{200, 56, 100},
		{1, 1, 5}, {1, 255, 3}, {255, 1, 3}, {128, 128, 17},
	}
	out := []vector{}
	for i, c := range cases {
		seed := uint32(0x9e3779b9) + uint32(i)*7919
		rng := &xorshift32{seed}
		enc, err := reedsolomon.New(c.k, c.m)
		if err != nil {
			panic(err)
		}
		shards := make([][]byte, c.k+c.m)
		for s := range shards {
			shards[s] = make([]byte, c.size)
			if s < c.k {
				rng.fill(shards[s])
			}
		}
		if err := enc.Encode(shards); err != nil {
			panic(err)
		}
		v := vector{K: c.k, M: c.m, Size: c.size, Seed: seed}
		for _, p := range shards[c.k:] {
			h := sha256.Sum256(p)
			n := len(p)
			if n > 16 {
				n = 16
			}
			v.Parity = append(v.Parity, parity{hex.EncodeToString(h[:]), hex.EncodeToString(p[:n])})
			if c.size <= 16 && c.m <= 4 {
				v.Raw = append(v.Raw, hex.EncodeToString(p))
			}
		}
		out = append(out, v)
	}
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", " ")
	if err := e.Encode(out); err != nil {
		panic(err)
	}
}
