// Command tessera-peer is the benchmark's peer: the same JSON Lines input that `auditlock ingest`
// archives, appended to a Trillian Tessera log on its POSIX storage driver, then read back and
// checked against the log's signed checkpoint. bench/peer-tessera.mjs builds and runs it.
//
//	tessera-peer append -input FILE -dir DIR -vkey FILE [-batch N] [-batch-age D]
//	tessera-peer check  -dir DIR -vkey FILE [-workers N]
//
// append stores each non-empty line as one entry, in input order, and returns once Tessera's
// shutdown has seen a published checkpoint covering every entry (its durability point: the
// driver fsyncs what it writes). check verifies that checkpoint's signature, re-hashes every
// entry of every entry bundle, rebuilds the tree and compares its root and its tiles with the
// stored ones (Tessera's own fsck package). Each prints one JSON line on stdout.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/fsck"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

const origin = "bench.auditlock.local/tessera"

// Longest input line accepted (the benchmark's events are about 1 KB).
const maxLineBytes = 4 << 20

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: tessera-peer append|check [flags]"))
	}
	ctx := context.Background()
	var out map[string]any
	var err error
	switch os.Args[1] {
	case "append":
		out, err = appendCmd(ctx, os.Args[2:])
	case "check":
		out, err = checkCmd(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q: expected append or check", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	// This process's own resource usage, as the benchmark reads it for the Node side too.
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		out["userMs"] = float64(ru.Utime.Nano()) / 1e6
		out["sysMs"] = float64(ru.Stime.Nano()) / 1e6
		out["maxRssKiB"] = ru.Maxrss
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tessera-peer:", err)
	os.Exit(2)
}

func appendCmd(ctx context.Context, argv []string) (map[string]any, error) {
	fl := flag.NewFlagSet("append", flag.ExitOnError)
	input := fl.String("input", "", "JSON Lines file to append, one entry a line")
	dir := fl.String("dir", "", "empty folder for the log")
	vkeyFile := fl.String("vkey", "", "where to write the checkpoint verifier key")
	batch := fl.Uint("batch", tessera.DefaultBatchMaxSize, "entries per sequencing batch at most")
	batchAge := fl.Duration("batch-age", tessera.DefaultBatchMaxAge, "longest wait before a partial batch is sequenced")
	_ = fl.Parse(argv)
	if *input == "" || *dir == "" || *vkeyFile == "" {
		return nil, fmt.Errorf("append needs -input, -dir and -vkey")
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(*vkeyFile, []byte(vkey), 0o600); err != nil {
		return nil, err
	}
	driver, err := posix.New(ctx, posix.Config{Path: *dir})
	if err != nil {
		return nil, err
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(*batch, *batchAge).
		// The shortest interval the driver allows, so the final checkpoint is not waited for
		// longer than necessary; the shutdown waits for it.
		WithCheckpointInterval(100 * time.Millisecond).
		WithShutdownTimeout(30 * time.Minute)
	appender, shutdown, _, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		return nil, err
	}

	f, err := os.Open(*input)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Futures are resolved in order by a second goroutine; the channel's capacity bounds how many
	// entries are in flight, as the archiver's buffer does on the other side.
	futures := make(chan tessera.IndexFuture, 8192)
	resolved := make(chan error, 1)
	go func() {
		var next uint64
		for fut := range futures {
			idx, err := fut()
			if err == nil && idx.Index != next {
				err = fmt.Errorf("entry %d was given index %d", next, idx.Index)
			}
			if err != nil {
				for range futures {
				}
				resolved <- err
				return
			}
			next++
		}
		resolved <- nil
	}()
	sc := bufio.NewScanner(bufio.NewReaderSize(f, 1<<20))
	sc.Buffer(make([]byte, 1<<20), maxLineBytes)
	var entries uint64
	for sc.Scan() {
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		// The scanner reuses its buffer; Tessera keeps the entry until it is written.
		futures <- appender.Add(ctx, tessera.NewEntry(bytes.Clone(line)))
		entries++
	}
	close(futures)
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := <-resolved; err != nil {
		return nil, err
	}
	if err := shutdown(ctx); err != nil {
		return nil, err
	}
	bundles, err := countFiles(filepath.Join(*dir, "tile", "entries"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"mode": "append", "entries": entries, "entryBundles": bundles}, nil
}

func checkCmd(ctx context.Context, argv []string) (map[string]any, error) {
	fl := flag.NewFlagSet("check", flag.ExitOnError)
	dir := fl.String("dir", "", "the log's folder")
	vkeyFile := fl.String("vkey", "", "the checkpoint verifier key (written by append)")
	workers := fl.Uint("workers", uint(runtime.NumCPU()), "concurrent fetch and tile-check workers")
	_ = fl.Parse(argv)
	if *dir == "" || *vkeyFile == "" {
		return nil, fmt.Errorf("check needs -dir and -vkey")
	}
	vkey, err := os.ReadFile(*vkeyFile)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, err
	}
	fetcher := client.FileFetcher{Root: *dir}
	cp, _, _, err := client.FetchCheckpoint(ctx, fetcher.ReadCheckpoint, verifier, origin)
	if err != nil {
		return nil, err
	}
	checker := fsck.New(origin, verifier, fetcher, leafHashes, fsck.Opts{N: *workers})
	if err := checker.Check(ctx); err != nil {
		return nil, err
	}
	return map[string]any{
		"mode":    "check",
		"ok":      true,
		"entries": cp.Size,
		"root":    fmt.Sprintf("%x", cp.Hash),
		"bytes":   checker.Status().BytesFetched,
	}, nil
}

// leafHashes parses one tlog-tiles entry bundle into the RFC 6962 leaf hashes of its entries.
func leafHashes(bundle []byte) ([][]byte, error) {
	var eb api.EntryBundle
	if err := eb.UnmarshalText(bundle); err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(eb.Entries))
	for i, e := range eb.Entries {
		hashes[i] = rfc6962.DefaultHasher.HashLeaf(e)
	}
	return hashes, nil
}

// countFiles counts the regular files under root (entry bundles, full and partial).
func countFiles(root string) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	return n, err
}
