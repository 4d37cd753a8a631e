// @crawlstream/supervisor: the `npm start` entry point (see main.ts).
export {};
