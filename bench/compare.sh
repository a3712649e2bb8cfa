#!/bin/sh
# Builds Parley, the comparison server and the load tools, then runs every
# scenario against both servers side by side (see bench/README.md).
# Any flag is passed on to benchcompare, e.g. -runs 5 or -scenarios fanout.
set -eu
cd "$(dirname "$0")/.."
go build -o bin/parley .
go build -o bin/plainchat ./bench/plainchat
go build -o bin/parleyload ./bench/cmd/parleyload
go build -o bin/benchcompare ./bench/cmd/benchcompare
exec ./bin/benchcompare "$@"
