export { upgradeStack } from './upgrade';
