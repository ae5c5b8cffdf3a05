package bench

import "os"

// syncDisks does nothing on Windows: there is no system-wide sync; the
// benchmark's figures there include write-back.
func syncDisks() {}

// peakRSSKB is unknown on Windows: the benchmark reports 0.
func peakRSSKB(*os.ProcessState) int64 { return 0 }
