//go:build !race

package deskgate_test

const raceDetector = false
