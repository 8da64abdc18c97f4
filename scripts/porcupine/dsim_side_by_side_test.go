// Times Porcupine's checker on the histories `scripts/porcupine-side-by-side.sh` compares
// with dsim's. The script copies this file into a checkout of Porcupine (package
// porcupine), so that it uses Porcupine's own parsers and models from porcupine_test.go
// (parseJepsenLog, etcdModel, parseKvLog, kvModel, kvNoPartitionModel), unchanged.
//
// Only the check is timed (CheckEvents, after parsing), as CPU time of the process (user
// and system, all goroutines, the garbage collector included), with getrusage.
//
//	DSIM_GROUP=etcd|kv|kv-no-partition DSIM_FILES="a b c" go test -run TestDsimSideBySide -count=1 -v
//
// prints one line a file, `file verdict cpu_ms`, and a last line `total cpu_ms`.
package porcupine

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

func cpuMilliseconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e6
}

func TestDsimSideBySide(t *testing.T) {
	group := os.Getenv("DSIM_GROUP")
	files := strings.Fields(os.Getenv("DSIM_FILES"))
	if len(files) == 0 {
		t.Skip("DSIM_FILES names no history")
	}
	total := 0.0
	for _, file := range files {
		var events []Event
		var model Model
		switch group {
		case "etcd":
			events, model = parseJepsenLog(file), etcdModel
		case "kv":
			events, model = parseKvLog(file), kvModel
		case "kv-no-partition":
			events, model = parseKvLog(file), kvNoPartitionModel
		default:
			t.Fatalf("DSIM_GROUP %q: expected etcd, kv or kv-no-partition", group)
		}
		start := cpuMilliseconds()
		linearizable := CheckEvents(model, events)
		spent := cpuMilliseconds() - start
		total += spent
		fmt.Printf("%s %t %.1f\n", file, linearizable, spent)
	}
	fmt.Printf("total %.1f\n", total)
}
