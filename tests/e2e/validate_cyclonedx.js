// Validates a CycloneDX 1.5 JSON document (stdin) against the official schema
// with the CycloneDX project's own validator (@cyclonedx/cyclonedx-library +
// ajv, from the npm registry). Exit 0 valid, 1 invalid (errors printed).
// Usage: NODE_PATH=<dir>/node_modules node validate_cyclonedx.js < bom.json
const CDX = require('@cyclonedx/cyclonedx-library');
const fs = require('fs');
const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot5);
validator.validate(fs.readFileSync(0, 'utf8')).then((errors) => {
  if (errors) {
    console.log(JSON.stringify(errors, null, 1).slice(0, 4000));
    process.exit(1);
  }
  console.log('valid CycloneDX 1.5');
}).catch((e) => { console.error(e); process.exit(2); });
