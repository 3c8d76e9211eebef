export default { name: 'greet', run: (who) => `hello, ${who}` };
