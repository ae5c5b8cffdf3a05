package repo

import (
	"bytes"
	"testing"

	"github.com/cairn-backup/cairn/blob"
)

func TestPurgeRecordRoundTrip(t *testing.T) {
	hs := []blob.Handle{{Type: blob.Data, ID: blob.ID{1}}, {Type: blob.Tree, ID: blob.ID{2}}}
	got, err := decodePurge(encodePurge(hs))
	if err != nil || len(got) != 2 || got[0] != hs[0] || got[1] != hs[1] {
		t.Fatalf("decodePurge(encodePurge(%v)) = %v, %v", hs, got, err)
	}
	for _, bad := range [][]byte{nil, {2, 0, 0, 0, 0}, {1, 1, 0, 0, 0}, append([]byte{1, 1, 0, 0, 0, 9}, make([]byte, 32)...)} {
		if _, err := decodePurge(bad); err == nil {
			t.Errorf("decodePurge(%x) accepted", bad)
		}
	}
}

func FuzzDecodePurge(f *testing.F) {
	f.Add(encodePurge([]blob.Handle{{Type: blob.Data, ID: blob.ID{1}}}))
	f.Add([]byte{1, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := decodePurge(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodePurge(hs), b) {
			t.Errorf("re-encoding %d handles differs", len(hs))
		}
	})
}
