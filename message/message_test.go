package message

import (
	"errors"
	"testing"
)

func TestLastChecksTheSummaryVersion(t *testing.T) {
	var s BackupSummary
	ok := []byte("{\"message_type\":\"status\"}\n{\"message_type\":\"summary\",\"message_version\":1,\"files_new\":3}\n")
	if err := Last(ok, &s); err != nil || s.FilesNew != 3 {
		t.Fatalf("Last = %v, %+v", err, s)
	}
	for _, line := range []string{
		`{"message_type":"summary","files_new":3}`,                     // a cairn from before versions
		`{"message_type":"summary","message_version":2,"files_new":3}`, // a newer cairn
	} {
		var s BackupSummary
		var ve *VersionError
		if err := Last([]byte(line), &s); !errors.As(err, &ve) || s.FilesNew != 0 {
			t.Errorf("Last(%s) = %v, %+v; want a VersionError and nothing decoded", line, err, s)
		}
	}
	// Other messages carry no version.
	var r Retry
	if err := Last([]byte(`{"message_type":"retry","item":"config"}`), &r); err != nil || r.Item != "config" {
		t.Errorf("Last(retry) = %v, %+v", err, r)
	}
	if err := Last([]byte("no json here\n"), &r); !errors.Is(err, ErrNoMessage) {
		t.Errorf("Last(text) = %v", err)
	}
}
