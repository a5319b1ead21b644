"""The contacts loader a Python user writes with HubSpot's official client (hubspot-api-client):
the csv module, 100 inputs a call, batch upsert by email, 8 threads (ThreadPoolExecutor).
bench/sdk/run.sh times it against `etl run`.

usage: python loader.py <contacts.csv> <base url>
"""

import csv
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputUpsert,
)

BATCH = 100


def batches(path):
    with open(path, newline="", encoding="utf-8") as file:
        batch = []
        for row in csv.DictReader(file):
            email = row["Email"].strip().lower()
            batch.append(
                SimplePublicObjectBatchInputUpsert(
                    id_property="email",
                    id=email,
                    properties={
                        "email": email,
                        "firstname": row["First Name"],
                        "lastname": row["Last Name"],
                        "phone": row["Phone"],
                        "city": row["City"],
                    },
                )
            )
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def main():
    path, host = sys.argv[1], sys.argv[2]
    started = time.perf_counter()
    client = HubSpot(access_token=os.environ.get("HUBSPOT_TOKEN", "bench-token"), host=host)
    batch_api = client.crm.contacts.batch_api

    def send(inputs):
        try:
            answer = batch_api.upsert(
                BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
            )
            return len(inputs), len(answer.results), 0
        except Exception as error:  # a user's loader logs and goes on
            print(f"batch failed: {error}", file=sys.stderr)
            return len(inputs), 0, len(inputs)

    rows = written = failed = requests = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for sent, ok, bad in pool.map(send, batches(path)):
            rows += sent
            written += ok
            failed += bad
            requests += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"loader": "python", "rows": rows, "written": written,
                      "failed": failed, "requests": requests, "seconds": seconds}))


if __name__ == "__main__":
    main()
