package berichtenbox

import (
	"os"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		code    Code
		verdict Verdict
		notSub  bool
		config  bool
		outcome string
	}{
		{Verwerkt, VerdictDelivered, false, false, event.OutcomeDelivered},
		{BerichtBestaatAl, VerdictDelivered, false, false, event.OutcomeDelivered},
		{NietActiefOfGeabonneerd, VerdictPermanent, true, false, event.OutcomePermanent},
		{TechnischProbleem, VerdictTemporary, false, false, event.OutcomeTemporary},
		{BerichtTypeNietOndersteund, VerdictPermanent, false, true, event.OutcomePermanent},
		{PublicatieDatumLigtTeVerInDeToekomst, VerdictPermanent, false, true, event.OutcomePermanent},
		{AanmaakDatumLigtTeVerInHetVerleden, VerdictPermanent, false, true, event.OutcomePermanent},
		{BijlageTeGroot, VerdictPermanent, false, true, event.OutcomePermanent},
		{OinInCPAKomtNietOvereenMetOinInBericht, VerdictPermanent, false, true, event.OutcomePermanent},
		{XmlValidatieTegenXsdValtNegatiefUit, VerdictPermanent, false, true, event.OutcomePermanent},
		{"00", VerdictDeadLetter, false, false, ""},
		{"", VerdictDeadLetter, false, false, ""},
	} {
		j := Judge(tc.code)
		if j.Verdict != tc.verdict || j.NotSubscribed != tc.notSub || j.OurConfig != tc.config || j.Verdict.OutcomeStatus() != tc.outcome {
			t.Errorf("Judge(%q) = %+v (%s), want %v notSubscribed=%v ourConfig=%v", tc.code, j, j.Verdict.OutcomeStatus(), tc.verdict, tc.notSub, tc.config)
		}
	}
}

func TestMarshalResponseValidatesAndParses(t *testing.T) {
	codes := []Code{Verwerkt, TechnischProbleem, NietActiefOfGeabonneerd, BerichtTypeNietOndersteund, PublicatieDatumLigtTeVerInDeToekomst,
		AanmaakDatumLigtTeVerInHetVerleden, BerichtBestaatAl, BijlageTeGroot, OinInCPAKomtNietOvereenMetOinInBericht, XmlValidatieTegenXsdValtNegatiefUit}
	r := Response{BerichtLeverancierCode: "00000001234567890000", BatchID: BatchIDFor("r"), DatumOntvangen: aanmaak, DatumVerwerkt: aanmaak.Add(time.Minute)}
	for i, c := range codes {
		r.Berichten = append(r.Berichten, Result{BerichtID: BerichtIDFor(string(c)), BerichtType: "Besluit", Code: c, Stadium: map[bool]string{true: "NA"}[i%2 == 0]})
	}
	raw := MarshalResponse(r)
	if err := xsdValid(t, responseXSD, raw); err != nil {
		t.Fatalf("response does not validate against GLOBEBatchResponse.xsd: %v", err)
	}
	back, err := ParseResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if back.BatchID != r.BatchID || len(back.Berichten) != len(codes) || !back.DatumVerwerkt.Equal(r.DatumVerwerkt) {
		t.Fatalf("round trip: %+v", back)
	}
	for i, b := range back.Berichten {
		if b.Code != codes[i] || b.BerichtID != r.Berichten[i].BerichtID {
			t.Fatalf("bericht %d: %+v", i, b)
		}
	}
}

// The adapter-client fixture has the real shape but synthetic values (code
// "00"): we read it, and an unknown code becomes a dead letter.
func TestParseResponseReadsTheAdapterClientFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/berichten_verwerk_response_sample.xml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if r.BatchID != "batch-123" || len(r.Berichten) != 2 || r.Berichten[0].Code != "00" || Judge(r.Berichten[0].Code).Verdict != VerdictDeadLetter {
		t.Fatalf("%+v", r)
	}
}
