#!/bin/sh
# Streams an endless CSV log into TOOL (argument 1) on standard input under a 400 MB address-space
# limit: the tool must run out of memory (or reach read_csv's size limit) and exit 2 with a message.
yes 0,0.5,0.5 | prlimit --as=400000000 "$1" /dev/stdin
