// kiln/junit: write a JUnit XML report (what `kiln test --junit FILE` writes for CI) and read it back.
import assert from 'node:assert/strict';
import { junitXml, readJUnit } from 'kiln/junit';

const xml = junitXml([
  {
    name: 'boot.x86_64',
    time: 1.25,
    cases: [
      { name: 'boot', classname: 'boot.x86_64', status: 'passed', time: 1.2 },
      { name: 'ktap: sched_test', classname: 'boot.x86_64.ktap', status: 'failed', message: 'not ok 3 - sched_test', details: '# expected 4, got 3' },
    ],
  },
]);
console.log(xml);
const [suite] = readJUnit(xml);
assert.deepEqual(suite.cases.map((c) => c.status), ['passed', 'failed']);
console.log(`read back: ${suite.name}, ${suite.cases.length} cases, ${suite.cases.filter((c) => c.status === 'failed').length} failed`);
