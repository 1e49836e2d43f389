#!/bin/bash
# the demo ZC config on 100 of the demo cells: threads vs processes runner, alone and next to a 1-thread busy job
cd "$(dirname "$0")/.."  # the repository root; needs the demo cells in ./artifacts (make demo, or nasgen cells)
CELLS=$(ls -d $PWD/artifacts/cells/*/ | head -1)
for runner in threads processes; do
  for load in alone busy; do
    st=$(mktemp -d /tmp/zcst.XXXX)
    if [ $load = busy ]; then python3 -c "while True: pass" & BUSY=$!; fi
    t0=$(date +%s.%N)
    .venv/bin/nasgen zc "$CELLS" --store "$st" --runner $runner --set zc.n_labelled=100 --set zc.shard_size=25 > /dev/null 2>&1
    rc=$?
    t1=$(date +%s.%N)
    if [ $load = busy ]; then kill $BUSY; fi
    echo "{\"runner\": \"$runner\", \"load\": \"$load\", \"rc\": $rc, \"seconds\": $(echo "$t1 - $t0" | bc)}"
    rm -rf "$st"
  done
done
