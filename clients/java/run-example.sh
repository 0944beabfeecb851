#!/usr/bin/env bash
# Compile the Java client with javac and run its example against a real `zhenggai serve` on
# loopback: a fresh SQLite database, one client, one round, one problem for li.ming to plan.
# Needs zhenggai installed (with the server extra) and a JDK 17.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

javac -Xlint:all -Werror -d "$work/classes" $(find "$here/src" "$here/example" -name '*.java')

export ZHENGGAI_DB="$work/zhenggai.db"
export ZHENGGAI_API_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
unset ZHENGGAI_WEBHOOK_URL ZHENGGAI_OA_TODO_URL ZHENGGAI_NOTIFIERS_FILE
zhenggai init >/dev/null
secret="$(zhenggai --json client add oa-java --allow-role owner --allow-role inspection_office --allow-scope '*' --as admin.ci \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')"
zhenggai round open 2026-XS03 --title "省委第三巡视组反馈意见" --org 省税务局 --feedback-date 2026-03-10 --as wang.jing >/dev/null
zhenggai issue add 2026-XS03 XS03-01 --title "奖金、补贴未按规定扣缴个人所得税" --category immediate \
    --unit 省税务局/财务处 --owner li.ming --lead zhao.gang --due 2026-04-30 --as wang.jing >/dev/null
zhenggai measure add XS03-01 "清查补缴个人所得税" --owner li.ming --due 2026-04-15 --as li.ming >/dev/null

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
zhenggai serve --host 127.0.0.1 --port "$port" --workers 2 >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done

out="$(java -cp "$work/classes" zhenggai.example.TodoExample "http://127.0.0.1:$port" oa-java "$secret" li.ming XS03-01 plan)"
echo "$out"
grep -q "^to-dos of li.ming: 1$" <<<"$out"
grep -q "fired plan on XS03-01: now planned" <<<"$out"
grep -q "^refused: 412 precondition_failed" <<<"$out"
echo "the Java example ran against zhenggai serve"
