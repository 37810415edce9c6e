/**
 * `npm run bot`: the Telegram bot as its own process, a Temporal client of the payment workflows.
 * Connects to Temporal the way the workers do (TEMPORAL_ADDRESS etc., else the embedded dev
 * server's address), starts the bot (bot/run.ts), and stops cleanly on SIGINT/SIGTERM.
 */
import { exitOnError } from '../common/errors.js';
import { runBotProcess } from './run.js';

runBotProcess().catch(exitOnError);
