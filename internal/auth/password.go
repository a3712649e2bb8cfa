package auth

import (
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is the bcrypt work factor. OWASP's password storage cheat
// sheet asks for 10 or more; bcrypt also caps passwords at 72 bytes, which is
// why the contract does too.
const PasswordCost = 10

// HashPassword returns a salted bcrypt hash of password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash. A malformed hash is
// a mismatch.
func CheckPassword(hash, password string) bool {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	return err == nil
}

// dummyHash is compared against when the user does not exist, so that an
// unknown name costs as much time as a wrong password.
var dummyHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte("parley-timing-equaliser"), PasswordCost)
	if err != nil {
		panic(errors.New("auth: cannot compute the dummy hash: " + err.Error()))
	}
	return string(h)
}()
