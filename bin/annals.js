#!/usr/bin/env node
// The installed command runs the compiled CLI (npm run build, done by prepack); in a checkout use npm start.
import "../dist/cli/main.js";
