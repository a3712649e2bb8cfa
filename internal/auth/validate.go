package auth

import "unicode/utf8"

// Limits on credentials, from the contract.
const (
	MinUsername = 3
	MaxUsername = 32
	MinPassword = 8
	MaxPassword = 72 // bytes; bcrypt ignores anything longer
)

// ValidUsername reports whether name is 3 to 32 characters of
// A-Z a-z 0-9 _ . -
func ValidUsername(name string) bool {
	if len(name) < MinUsername || len(name) > MaxUsername {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkCredentials(name, password string) *Error {
	if !ValidUsername(name) {
		return fail(CodeInvalid, "A username is 3 to 32 characters: letters, digits, '_', '.' or '-'.")
	}
	if len(password) < MinPassword || len(password) > MaxPassword {
		return fail(CodeInvalid, "A password is 8 to 72 bytes long.")
	}
	if !utf8.ValidString(password) {
		return fail(CodeInvalid, "A password must be valid UTF-8 text.")
	}
	return nil
}
