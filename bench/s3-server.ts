// An S3 server for the benches, in a process of its own: s3rver storing under DIR, bucket
// BUCKET, on a loopback port it prints. Start it with --openssl-legacy-provider: s3rver makes
// its listing continuation tokens with a cipher OpenSSL 3 keeps only there (without it, any
// listing of more than 1,000 keys fails with HTTP 500).
//
//   node --openssl-legacy-provider dist/bench/s3-server.js DIR BUCKET
import S3rver from 's3rver';

const [dir, bucket] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir!, configureBuckets: [{ name: bucket! }] });
const { port } = await server.run();
process.stdout.write(`${port}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
