#!/usr/bin/env bash
# Usage: bench_policy.sh [OUT]: writes the enforcement benchmark policy to OUT (default stdout):
# 199 rules that allow the workloads of bench_record.sh (default deny; the workspace, the system
# directories, loopback; 190 deny and ask rules on paths, hosts and programs the workloads never
# touch, plus a sequence and a budget).
# Used by bench_record.sh (ENFORCE=bench) and, generated at build time, by bench_startup.
set -euo pipefail
[[ $# -eq 0 ]] || exec >"$1"
echo 'version: 1'
echo 'default: deny'
echo 'secrets: ["~/.ssh/**", "~/.aws/**", "**/.env"]'
echo 'rules:'
echo '  - {id: ws, decision: allow, class: [file.read, file.write, file.delete], paths: ["${workspace}/**", "${tmp}/**", "${home}/**"]}'
echo '  - {id: sys, decision: allow, class: [file.read, exec], paths: ["/usr/**", "/etc/**", "/lib/**", "/lib64/**", "/bin/**", "/proc/**", "/sys/**", "/dev/**"]}'
echo '  - {id: dev-write, decision: allow, class: file.write, paths: ["/dev/null", "/dev/tty"]}'
echo '  - {id: bench-bin, decision: allow, class: exec, paths: ["${tmp}/**"]}'
echo '  - {id: loopback, decision: allow, class: [net.connect, net.listen], hosts: ["127.0.0.1", "::1"]}'
# Servers on any address (the workloads' own listen on loopback, which the rule above allows too).
echo '  - {id: listen, decision: allow, class: net.listen}'
echo '  - {id: no-secrets, decision: deny, class: secret.read}'
for i in $(seq 0 189); do
  case $((i % 5)) in
    0) echo "  - {id: deny-dir$i, decision: deny, class: [file.read, file.write], paths: [\"/srv/data$i/**\", \"~/private$i/**/*.{db,sqlite}\"]}" ;;
    1) echo "  - {id: ask-hook$i, decision: ask, class: file.write, paths: [\"\${workspace}/.git/hooks$i/*\"]}" ;;
    2) echo "  - {id: exec$i, decision: ask, class: exec, paths: [\"**/tool$i\"]}" ;;
    3) echo "  - {id: host$i, decision: deny, class: net.connect, hosts: [\"192.0.$((i % 250)).0/24\"]}" ;;
    4) echo "  - {id: cfg$i, decision: ask, class: file.write, paths: [\"\${home}/.config/app$i/**\"]}" ;;
  esac
done
echo '  - id: exfil'
echo '    decision: deny'
echo '    sequence: {steps: [{class: secret.read}, {class: net.connect}], within: {events: 100}}'
echo '  - {id: exec-budget, decision: ask, class: exec, budget: {max: 100000}}'
