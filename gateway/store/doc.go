// Package store keeps the gateway's rooms: their names, PINs, host PINs,
// aliases and numeric ids, and answers the two questions the SIP side asks
// on every call: "which room does this dialled user part mean?"
// (FindBySIPUser) and "which room does this PIN open?" (FindByPIN).
//
// The Store interface is the contract; SQLite (a single file under the data
// directory, pure Go through modernc.org/sqlite) is the embedded default. The
// store, not its callers, enforces the rules that keep routing unambiguous:
// valid names, PINs of 4 to 12 digits, every PIN and host PIN unique across
// all rooms, and every dialable identifier (name, alias, numeric id) naming
// exactly one room. Violations come back as *ValidationError (ErrInvalid) or
// *ConflictError (ErrConflict), each naming the offending field with the
// room API's JSON name, so the API can report them without translation.
//
// It also keeps SIP registrations (RFC 3261 §10): bindings of an
// address-of-record to the contact of a browser or softphone, each with its
// expiry, written by the SIP registrar and listed by the room API.
package store
