// Shared helpers for the gateway pages; the full set lands with the pages issue.
"use strict";
