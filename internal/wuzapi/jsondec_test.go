package wuzapi

import "testing"

// slowSent is sentAnswer without its own reader: encoding/json reads it.
type slowSent sentAnswer

// FuzzSentAnswer: an answer decodeEnvelope accepts, encoding/json reads
// as a success with the same data; one it refuses leaves the data as it
// was.
func FuzzSentAnswer(f *testing.F) {
	for _, s := range []string{
		`{"code":200,"data":{"Details":"Sent","Id":"3EB0AABBCCDDEEFF001122","Timestamp":1716400000},"success":true}` + "\n",
		`{"success":true,"data":{"Id":"3EB0X"},"code":200}`,
		` { "code" : 200 , "data" : { "Timestamp" : 0 } , "success" : true } `,
		`{"code":200,"data":{"Details":"Sent","Id":"3EB0X","Timestamp":"2022-04-20T12:49:08-03:00"},"success":true}`,
		`{"code":200,"data":{"Details":"Sent","Id":"3EB0X","Timestamp":1716400000.5},"success":true}`,
		`{"code":200,"data":{"Id":"3EB0X","Id":"3EB0Y"},"success":true}`,
		`{"code":200,"data":{"id":"3EB0X"},"success":true}`,
		`{"code":200,"data":null,"success":true}`,
		`{"code":500,"error":"no session","success":false}`,
		`{"code":200,"data":{"Id":"3EB\u0030X"},"success":true}`,
		`{"code":200,"data":{"Id":"Olá"},"success":true}`,
		`{"code":200,"data":{"Timestamp":01716400000},"success":true}`,
		`{"code":200,"data":{},"success":true}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast sentAnswer
		if !fast.decodeEnvelope(raw) {
			if fast != (sentAnswer{}) {
				t.Fatalf("refused %q but set %+v", raw, fast)
			}
			return
		}
		var slow slowSent
		if err := decodeAnswer("send text", "/chat/send/text", 200, "application/json", raw, &slow); err != nil {
			t.Fatalf("accepted %q, which encoding/json reads as %v", raw, err)
		}
		if sentAnswer(slow) != fast {
			t.Fatalf("%q: decodeEnvelope %+v, encoding/json %+v", raw, fast, slow)
		}
	})
}
