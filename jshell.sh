#!/usr/bin/env bash
# Opens JShell with the project on the class path, the usual imports, and a model loaded:
#   ./jshell.sh                                     the bundled tiny GPT-2 (offline)
#   NEURON_EXPLAINER_MODEL=gpt2-small ./jshell.sh   any name, folder or URL StandardModelContext.load takes
# Builds the modules first (skipping tests); MAVEN_ARGS is passed to Maven (e.g. MAVEN_ARGS=-o).
# Any arguments go to jshell. See README, "JShell".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
CLASSPATH_FILE="$ROOT/examples/target/jshell.classpath"
MODEL="${NEURON_EXPLAINER_MODEL:-$ROOT/fixtures/tiny/data/tiny-gpt2-hf}"

# shellcheck disable=SC2086 # MAVEN_ARGS holds separate arguments
mvn -q -B -Dstyle.color=never ${MAVEN_ARGS:-} -f "$ROOT/pom.xml" -pl examples -am \
  -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true \
  package dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$CLASSPATH_FILE"

exec jshell \
  --class-path "$(cat "$CLASSPATH_FILE"):$ROOT/examples/target/classes" \
  -R-Dai.djl.offline=true \
  -R-Dneuronexplainer.jshell.model="$MODEL" \
  --startup DEFAULT --startup "$ROOT/jshell/startup.jsh" \
  "$@"
