package nacha

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLayoutsCoverEveryPosition: each record layout's fields are contiguous
// and cover positions 1-94 exactly once.
func TestLayoutsCoverEveryPosition(t *testing.T) {
	for name, layout := range map[string][]field{
		"file header": fileHeaderLayout, "batch header": batchHeaderLayout, "entry": entryLayout,
		"return addenda": returnAddenda, "batch control": batchControlLayout, "file control": fileControlLayout,
		"padding": paddingRecordLayout,
	} {
		next := 1
		for _, f := range layout {
			require.Equal(t, next, f.start, "%s: %s", name, f.name)
			require.GreaterOrEqual(t, f.end, f.start, "%s: %s", name, f.name)
			next = f.end + 1
		}
		require.Equal(t, RecordLength+1, next, name)
	}
	require.Equal(t, IndividualIDMaxLength, edIndividualID.width())
	require.Equal(t, NameMaxLength, edName.width())
	require.Equal(t, AccountNumberMaxLength, edAccount.width())
	require.Equal(t, EntryDiscretionaryMaxLength, edDiscretionary.width())
	require.Equal(t, CompanyNameMaxLength, bhCompanyName.width())
	require.Equal(t, CompanyIDLength, bhCompanyID.width())
	require.Equal(t, CompanyDiscretionaryMaxLength, bhDiscretionary.width())
	require.Equal(t, CompanyEntryDescriptionMaxLength, bhDescription.width())
	require.Equal(t, ODFIIdentificationLength, bhODFI.width())
	require.Equal(t, ImmediateDestinationNameMaxLength, fhDestinationName.width())
	require.Equal(t, ImmediateOriginNameMaxLength, fhOriginName.width())
	require.Equal(t, AddendaInformationMaxLength, raInformation.width())
}
