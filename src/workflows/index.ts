export { upgradeFleet } from './fleet';
export { rollbackBatch, upgradeBatch } from './batch';
export { discoverFleet, dryRunFleet } from './inspect';
