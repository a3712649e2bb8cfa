package cluster

import (
	"encoding/binary"
	"errors"

	"github.com/parley-chat/parley/internal/broker"
)

// An event on a room channel is
//
//	version (1 byte, 1) | node id length (1 byte) | node id
//	| id (uvarint) | prev (uvarint) | except length (uvarint) | except
//	| payload (the rest: the encoded event, sent to clients as it is)
//
// and a control message on the control channel is
//
//	version | node id length | node id | kind (1 byte) | argument (the rest)
const wireVersion = 1

// Control message kinds.
const ctlEnd = 'e' // a session logged out: close its sockets

var errMalformed = errors.New("cluster: malformed message")

func appendNode(dst []byte, node string) []byte {
	dst = append(dst, wireVersion, byte(len(node)))
	return append(dst, node...)
}

func encodeEvent(node string, e broker.Event) []byte {
	b := make([]byte, 0, 2+len(node)+3*binary.MaxVarintLen64+len(e.Except)+len(e.Payload))
	b = appendNode(b, node)
	b = binary.AppendUvarint(b, uint64(e.ID))
	b = binary.AppendUvarint(b, uint64(e.Prev))
	b = binary.AppendUvarint(b, uint64(len(e.Except)))
	b = append(b, e.Except...)
	return append(b, e.Payload...)
}

func readNode(b []byte) (node string, rest []byte, err error) {
	if len(b) < 2 || b[0] != wireVersion || len(b) < 2+int(b[1]) {
		return "", nil, errMalformed
	}
	n := int(b[1])
	return string(b[2 : 2+n]), b[2+n:], nil
}

func decodeEvent(b []byte) (node string, e broker.Event, err error) {
	node, b, err = readNode(b)
	if err != nil {
		return "", e, err
	}
	var fields [3]uint64
	for i := range fields {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<62 {
			return "", e, errMalformed
		}
		fields[i], b = v, b[n:]
	}
	if fields[2] > uint64(len(b)) {
		return "", e, errMalformed
	}
	e.ID, e.Prev = int64(fields[0]), int64(fields[1])
	e.Except = string(b[:fields[2]])
	e.Payload = b[fields[2]:]
	return node, e, nil
}

func encodeControl(node string, kind byte, arg string) []byte {
	b := appendNode(make([]byte, 0, 3+len(node)+len(arg)), node)
	b = append(b, kind)
	return append(b, arg...)
}

func decodeControl(b []byte) (node string, kind byte, arg string, err error) {
	node, b, err = readNode(b)
	if err != nil || len(b) < 1 {
		return "", 0, "", errMalformed
	}
	return node, b[0], string(b[1:]), nil
}
