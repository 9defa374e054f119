//go:build race

package deskgate_test

// raceDetector tells a test built with -race, whose instrumentation
// allocates on its own, so that allocation counts mean nothing.
const raceDetector = true
