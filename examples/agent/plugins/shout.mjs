export default { name: 'shout', run: (text) => `${text.toUpperCase()}!` };
