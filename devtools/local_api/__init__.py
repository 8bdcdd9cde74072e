"""A local stand-in for the HTTP API: serves every route of template.yaml in-process, without Docker.

It behaves like API Gateway's HTTP API with Lambda proxy integrations (payload format 2.0) and a Lambda
REQUEST authorizer: the same route selection, event shape, 401/403/404/413/429/500 answers and response
mapping, and the template's route throttles (devtools.local_api.throttling). All functions share this one
process: they are imported from `<CodeUri>/<handler module>.py` on first use and invoked one at a time (one
warm "container" for the whole API), with the environment from the template. The authorizer is called as the
template's identity sources say: a request lacking one (absent or empty) is a 401 `{"message":"Unauthorized"}`
without a call (the template's is the Authorization header); with none, every request of an authorized route
calls it. Not emulated: authorizer result caching, CORS, Lambda timeouts (only reported), per-function
environment differences.

The template's scheduled functions (`Schedule`/`ScheduleV2` events) run through the same invoke, on their
rate once `gateway.scheduler.start()` is called (see devtools.local_scheduler), and on demand through
local-only routes that are not in the template and never shadow one of its routes:

    GET  /__local/schedules                         every schedule, its expression, last run and result
    GET  /__local/schedules/<FunctionId>[/<Event>]  one of them
    POST /__local/schedules/<FunctionId>[/<Event>]  run it once now: 200 {"function", "result"}

Given an OpenAPI document (`Gateway(openapi=...)`; `serve_in_thread` and `make run` give the one built from
the code by devtools.openapi), it also serves, under the same rule (a template route always wins):

    GET  /openapi.json                              the document, its `servers` naming this server
    GET  /docs                                      Swagger UI for it (also /docs?format=json: the document)
    GET  /docs/swagger-ui-bundle.min.js, /docs/swagger-ui.min.css
                                                    Swagger UI's assets, as Powertools ships them: no CDN

One package, by concern (nothing is re-exported here; import from the module):

    routing.py      route selection (RouteTable)
    events.py       the request as received (IncomingRequest) and the 2.0 events built from it
    runtime.py      Lambda: the context object, loading handler modules, invoking them one at a time
    responses.py    the gateway's own answers, and a function's result mapped to an HTTP response
    authorizer.py   the REQUEST authorizer flow (401 without an identity source, 403 on refusal)
    docs.py         /openapi.json and Swagger UI
    schedules.py    /__local/schedules
    gateway.py      Gateway: all of the above for one request, `Gateway.handle(IncomingRequest)`; no sockets
    environment.py  the environment of a local run (the template's variables, local endpoints)
    server.py       the gateway over HTTP (LocalApiServer), serve_in_thread for tests, make run's wait
"""
