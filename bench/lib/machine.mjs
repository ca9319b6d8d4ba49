/** What the numbers were measured on. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export function machineInfo() {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism?.() ?? os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: osName(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

function osName() {
  try {
    const pretty = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m);
    if (pretty) return `${pretty[1]} (${os.type()} ${os.release()}, ${os.arch()})`;
  } catch {}
  return `${os.type()} ${os.release()} (${os.arch()})`;
}
