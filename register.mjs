// node --import trustload/register app.js
import { registerFromEnvironment } from './dist/register.js';

registerFromEnvironment();
