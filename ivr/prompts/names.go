package prompts

// Speech prompts, one file per name in every language.
const (
	Welcome          = "welcome"           // "Welcome to the conference service."
	EnterPIN         = "enter_pin"         // "Please enter the meeting PIN, followed by the pound key."
	InvalidPIN       = "invalid_pin"       // "That PIN is not valid. Please try again."
	Goodbye          = "goodbye"           // "Goodbye."
	WaitingForHost   = "waiting_for_host"  // "Please wait. The meeting will begin when the host joins."
	FirstParticipant = "first_participant" // "You are the first participant."
	Joining          = "joining"           // "Joining the meeting."
	Muted            = "muted"             // "You are muted."
	Unmuted          = "unmuted"           // "You are unmuted."
	ThereIs          = "there_is"          // "There is" (one person)
	ThereAre         = "there_are"         // "There are" (N people)
	PersonInMeeting  = "person_in_meeting" // "person in this meeting."
	PeopleInMeeting  = "people_in_meeting" // "people in this meeting."
	MoreThanTwenty   = "more_than_twenty"  // "more than twenty"
)

// Sounds shared by every language.
const (
	JoinTone  = "join_tone"  // two rising notes, 0.35 s
	LeaveTone = "leave_tone" // two falling notes, 0.35 s
	HoldMusic = "hold_music" // a soft four-chord loop, 10 s, meant to be looped
)

// numbers are the number prompts, zero to twenty, indexed by value.
var numbers = [...]string{
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
	"nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
	"sixteen", "seventeen", "eighteen", "nineteen", "twenty",
}

// Number returns the prompt that says n, for 0 ≤ n ≤ 20; ok is false
// otherwise.
func Number(n int) (name string, ok bool) {
	if n < 0 || n >= len(numbers) {
		return "", false
	}
	return numbers[n], true
}

// SpeechNames lists every speech prompt, which each language must provide.
func SpeechNames() []string {
	names := []string{
		Welcome, EnterPIN, InvalidPIN, Goodbye, WaitingForHost,
		FirstParticipant, Joining, Muted, Unmuted, ThereIs, ThereAre,
		PersonInMeeting, PeopleInMeeting, MoreThanTwenty,
	}
	return append(names, numbers[:]...)
}

// CommonNames lists the language-independent sounds.
func CommonNames() []string {
	return []string{JoinTone, LeaveTone, HoldMusic}
}

// Names lists every prompt of a Set: the speech prompts, then the common
// sounds.
func Names() []string {
	return append(SpeechNames(), CommonNames()...)
}

// CountSequence returns the prompts to play, in order, to say how many
// people are in a meeting: "there is one person in this meeting", "there
// are N people in this meeting", "there are more than twenty people in this
// meeting". A negative n is said as zero.
func CountSequence(n int) []string {
	switch {
	case n == 1:
		return []string{ThereIs, numbers[1], PersonInMeeting}
	case n > 20:
		return []string{ThereAre, MoreThanTwenty, PeopleInMeeting}
	}
	return []string{ThereAre, numbers[max(n, 0)], PeopleInMeeting}
}
