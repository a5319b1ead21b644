// The contacts loader a Node user writes with HubSpot's official client (@hubspot/api-client):
// parse the CSV, 100 inputs a call, batch upsert by email, the client's Bottleneck limiter opened
// to 8 requests in flight with no spacing. bench/sdk/run.sh times it against `etl run`.
//
// usage: node loader.js <contacts.csv> <base url>
'use strict';

const fs = require('node:fs');
const { parse } = require('csv-parse');
const hubspot = require('@hubspot/api-client');

const [csvPath, basePath] = process.argv.slice(2);
const BATCH = 100;

const client = new hubspot.Client({
  accessToken: process.env.HUBSPOT_TOKEN || 'bench-token',
  basePath,
  limiterOptions: { maxConcurrent: 8, minTime: 0 },
});

async function main() {
  const started = process.hrtime.bigint();
  const parser = fs.createReadStream(csvPath).pipe(parse({ columns: true }));
  const calls = [];
  let inputs = [];
  let rows = 0;
  let failed = 0;
  const send = (batch) =>
    client.crm.contacts.batchApi.upsert({ inputs: batch }).then(
      (answer) => answer.results.length,
      (error) => {
        failed += batch.length;
        console.error(`batch failed: ${error.code || ''} ${error.message}`);
        return 0;
      },
    );
  for await (const row of parser) {
    rows += 1;
    inputs.push({
      idProperty: 'email',
      id: row['Email'].trim().toLowerCase(),
      properties: {
        email: row['Email'].trim().toLowerCase(),
        firstname: row['First Name'],
        lastname: row['Last Name'],
        phone: row['Phone'],
        city: row['City'],
      },
    });
    if (inputs.length === BATCH) {
      calls.push(send(inputs));
      inputs = [];
    }
  }
  if (inputs.length > 0) calls.push(send(inputs));
  const written = (await Promise.all(calls)).reduce((a, b) => a + b, 0);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ loader: 'node', rows, written, failed, requests: calls.length, seconds }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
