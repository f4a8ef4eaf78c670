// The types of ./tfjs-exports.js, which scripts/build-tfjs.mjs generates into dist/ (tfjs-core's
// and tfjs-layers' exports by name, from require(); see there why): those of the packages.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
