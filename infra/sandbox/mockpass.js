// Starts MockPass on loopback only: its own index.js listens on every interface.
const { app } = require('@opengovsg/mockpass/app')

const port = Number(process.env.MOCKPASS_PORT || 5156)
app.listen(port, '127.0.0.1', () => console.warn(`MockPass listening on http://127.0.0.1:${port}`))
