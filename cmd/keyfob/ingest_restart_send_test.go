package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file sends a run's batches: 4 at a time until the kill -9 (phase 1), then again after the
// restart (phase 2).

// restartIngest is one run's batches as the client sends them.
type restartIngest struct {
	run     int
	idem    bool // an Idempotency-Key per batch
	apiKey  string
	batches [][]restartEvent
	bodies  [][]byte
}

func newRestartIngest(run int, idem bool, apiKey string, batches [][]restartEvent) *restartIngest {
	in := &restartIngest{run: run, idem: idem, apiKey: apiKey, batches: batches, bodies: make([][]byte, len(batches))}
	for i, b := range batches {
		in.bodies[i], _ = json.Marshal(map[string]any{"events": b})
	}
	return in
}

// idemKey is batch i's Idempotency-Key, or "" on runs without one.
func (in *restartIngest) idemKey(i int) string {
	if !in.idem {
		return ""
	}
	return fmt.Sprintf("restart-run%d-batch%02d", in.run+1, i)
}

// post sends batch i once; err is a transport error (the process died).
func (in *restartIngest) post(client *restartClient, i int) (int, ingestResult, string, error) {
	return client.postBatch(in.apiKey, in.idemKey(i), in.bodies[i])
}

// restartSender is phase 1's workers and what they know of each batch, guarded by mu.
type restartSender struct {
	mu        sync.Mutex
	acked     []bool
	inFlight  map[int]time.Time
	sent      []bool
	killed    bool
	finished  int
	failures  []string
	latencies []time.Duration
	progress  chan struct{} // a send or an acknowledgement
	wg        sync.WaitGroup
}

// restartSendAndKill is phase 1: it posts the batches 4 at a time and kills the server with -9 once
// some are acknowledged, plus a jitter. It returns which batches were acknowledged, and their indexes.
func restartSendAndKill(t *testing.T, rng *rand.Rand, srv *restartServer, client *restartClient, in *restartIngest, rep *restartReport) ([]bool, []int) {
	t.Helper()
	phase1Start := time.Now()
	n := len(in.batches)
	s := &restartSender{acked: make([]bool, n), inFlight: map[int]time.Time{}, sent: make([]bool, n),
		progress: make(chan struct{}, 4*n)}
	queue := make(chan int, n)
	for i := range in.batches {
		queue <- i
	}
	close(queue)
	for w := 0; w < restartConcurrency; w++ {
		s.wg.Add(1)
		go s.work(client, in, queue)
	}
	// Kill once killAfter batches are acknowledged (0: once the first is sent), after a jitter of up to
	// one batch's latency, so the kill can land at any point of a batch's transaction.
	killAfter := rng.Intn(n - restartConcurrency)
	s.waitForKillPoint(killAfter)
	jitterMax := s.meanLatency()
	jitter := time.Duration(rng.Int63n(int64(jitterMax) + 1))
	time.Sleep(jitter)
	s.mu.Lock()
	s.killed = true
	rep.ackedAtKill, rep.inFlightAtKill, rep.unsentAtKill = s.count()
	inFlightIDs := slices.Sorted(maps.Keys(s.inFlight))
	s.mu.Unlock()
	srv.kill(t)
	s.wg.Wait()
	rep.phase1 = time.Since(phase1Start)
	if len(s.failures) > 0 {
		t.Fatalf("before the kill:\n%s", strings.Join(s.failures, "\n"))
	}
	ackedIdx := []int{}
	for i := range in.batches {
		if s.acked[i] {
			ackedIdx = append(ackedIdx, i)
		}
	}
	t.Logf("kill -9 after %d acks (+%s jitter, mean batch latency %s): %d acked, %d in flight %v, %d unsent at the kill; %d acked in the end %v",
		killAfter, jitter.Round(time.Millisecond), jitterMax.Round(time.Millisecond), rep.ackedAtKill, rep.inFlightAtKill, inFlightIDs,
		rep.unsentAtKill, len(ackedIdx), ackedIdx)
	return s.acked, ackedIdx
}

// work posts the batches of queue one by one until the queue is empty or the server is killed.
func (s *restartSender) work(client *restartClient, in *restartIngest, queue <-chan int) {
	defer s.wg.Done()
	for i := range queue {
		s.mu.Lock()
		if s.killed {
			s.mu.Unlock()
			return
		}
		s.sent[i], s.inFlight[i] = true, time.Now()
		s.mu.Unlock()
		s.progress <- struct{}{}
		status, res, raw, err := in.post(client, i)
		s.record(i, status, res, raw, err)
		s.progress <- struct{}{}
	}
}

// record notes what the first send of batch i got: an acknowledgement, a failure, or a loss to the kill.
func (s *restartSender) record(i, status int, res ingestResult, raw string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	began := s.inFlight[i]
	delete(s.inFlight, i)
	s.finished++
	switch {
	case err != nil && !s.killed:
		s.failures = append(s.failures, fmt.Sprintf("batch %d failed before the kill: %v (status %d) %.300s", i, err, status, raw))
	case err != nil: // lost with the process: to be resent
	case status != http.StatusAccepted:
		s.failures = append(s.failures, fmt.Sprintf("batch %d: status %d, want 202: %.300s", i, status, raw))
	case res.Accepted != restartBatchSize || res.Duplicates != 0 || len(res.Refused) != 0:
		s.failures = append(s.failures, fmt.Sprintf("batch %d, first send: want 1000 accepted, 0 duplicates, none refused; got %.300s", i, raw))
		s.acked[i] = true
	default:
		s.acked[i] = true
		s.latencies = append(s.latencies, time.Since(began))
	}
}

// count is how many batches are acknowledged, in flight and not yet sent; the caller holds mu.
func (s *restartSender) count() (a, f, u int) {
	for i := range s.acked {
		switch {
		case s.acked[i]:
			a++
		case !s.sent[i]:
			u++
		}
	}
	return a, len(s.inFlight), u
}

// waitForKillPoint returns once killAfter batches are acknowledged (0: once the first is sent), every
// batch has finished, or one has failed.
func (s *restartSender) waitForKillPoint(killAfter int) {
	n := len(s.acked)
	for {
		<-s.progress
		s.mu.Lock()
		a, _, u := s.count()
		stop := (killAfter == 0 && u < n) || (killAfter > 0 && a >= killAfter) || s.finished == n || len(s.failures) > 0
		s.mu.Unlock()
		if stop {
			return
		}
	}
}

// meanLatency is the mean latency of the batches acknowledged so far, or 60 ms before the first.
func (s *restartSender) meanLatency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	jitterMax := 60 * time.Millisecond
	if len(s.latencies) > 0 {
		var sum time.Duration
		for _, l := range s.latencies {
			sum += l
		}
		jitterMax = sum / time.Duration(len(s.latencies))
	}
	return jitterMax
}

// restartResend is phase 2: it resends every unacknowledged batch and two acknowledged ones, 4 at a
// time, and returns what was wrong with the answers.
func restartResend(rng *rand.Rand, client *restartClient, in *restartIngest, acked []bool, ackedIdx, present []int, rep *restartReport) []string {
	var resend []int
	for i := range in.batches {
		if !acked[i] {
			resend = append(resend, i)
		}
	}
	rng.Shuffle(len(ackedIdx), func(i, j int) { ackedIdx[i], ackedIdx[j] = ackedIdx[j], ackedIdx[i] })
	resend = append(resend, ackedIdx[:min(2, len(ackedIdx))]...)
	rep.resent = len(resend)
	queue := make(chan int, len(resend))
	for _, i := range resend {
		queue <- i
	}
	close(queue)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		failures []string
	)
	for w := 0; w < restartConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				if msg := in.resendOnce(client, i, acked[i], present[i]); msg != "" {
					mu.Lock()
					failures = append(failures, msg)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return failures
}

// resendOnce resends batch i, of which present events were stored before, and says what is wrong with
// the answer ("" when nothing is).
func (in *restartIngest) resendOnce(client *restartClient, i int, acked bool, present int) string {
	status, res, raw, err := in.post(client, i)
	// What the resend must answer: without an Idempotency-Key, the events stored before are
	// duplicates; with one, a stored batch answers its first result again.
	wantAccepted, wantDup := restartBatchSize, 0
	if present == restartBatchSize && !in.idem {
		wantAccepted, wantDup = 0, restartBatchSize
	}
	switch {
	case err != nil:
		return fmt.Sprintf("resend of batch %d: %v", i, err)
	case status != http.StatusAccepted:
		return fmt.Sprintf("resend of batch %d: status %d, want 202: %.300s", i, status, raw)
	case res.Accepted != wantAccepted || res.Duplicates != wantDup || len(res.Refused) != 0:
		return fmt.Sprintf("resend of batch %d (acked before: %v, events stored before: %d, idempotency key: %v): want accepted=%d duplicates=%d refused=[], got %.300s",
			i, acked, present, in.idem, wantAccepted, wantDup, raw)
	}
	return ""
}
