export { AmqpConnection } from './amqp.connection';
export { MessagingModule } from './messaging.module';
export { ROUTING, Topology } from './topology';
