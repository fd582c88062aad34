"""The request/response edge every transport shares (engine, Lambda, ``oae serve``, CLI).

* ``payload``: bodies and GraphQL payloads read one way (limits, ``Decimal``, names).
* ``envelope``: the one response shape, errors mapped to codes and statuses, JSON text
  with secrets redacted and a fallback when a value cannot be written.
* ``http``: GraphQL over HTTP: content negotiation, 405/406/413/415, CORS, caching.
* ``http_body``: reading a body on a kept-alive connection exactly (``oae serve``).
* ``document_cache``: parsed and validated documents, once per process.
* ``log_redaction``, ``log_text``: secrets out of log lines; request values on one line.

Nothing is imported here: ``config`` needs ``log_redaction`` without graphql-core.
"""
